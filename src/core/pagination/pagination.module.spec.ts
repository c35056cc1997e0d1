import { Test } from '@nestjs/testing';
import { AppConfig } from '../../config/app.config';
import { ConfigModule } from '../../config/config.module';
import { CursorCodec } from './cursor.codec';
import { activePageLimits, PageLimits } from './page-limits';
import { PaginationModule } from './pagination.module';
import { Paginator } from './paginator';

describe(PaginationModule.name, () => {
  it('should provide the codec, the configured limits and the paginator, and activate the limits when initialised', async () => {
    const config = AppConfig.fromEnv({ NODE_ENV: 'test', PAGINATION_DEFAULT_LIMIT: '10', PAGINATION_MAX_LIMIT: '40' });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), PaginationModule],
    }).compile();
    await moduleRef.init();
    try {
      expect(moduleRef.get(CursorCodec)).toBeInstanceOf(CursorCodec);
      expect(moduleRef.get(Paginator)).toBeInstanceOf(Paginator);
      expect(moduleRef.get(PageLimits)).toMatchObject({ defaultLimit: 10, maxLimit: 40 });
      expect(activePageLimits()).toBe(moduleRef.get(PageLimits));
    } finally {
      await moduleRef.close();
    }
  });
});

describe(PageLimits.name, () => {
  it.each([
    [0, 10],
    [11, 10],
    [1.5, 10],
  ])('should refuse default %p with max %p when constructed', (defaultLimit, maxLimit) => {
    expect(() => new PageLimits(defaultLimit, maxLimit)).toThrow('Invalid page limits');
  });
});
