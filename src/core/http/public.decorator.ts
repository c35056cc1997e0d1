import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'atrium:public';

/** The only opt-out of authentication: every other route needs a valid access token. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
