// Applies the @nestjs/swagger CLI plugin under ts-jest, so DTOs document themselves in tests as in `nest build`.
const transformer = require('@nestjs/swagger/plugin');

module.exports.name = 'nestjs-swagger-transformer';
module.exports.version = 1;
module.exports.factory = (cs) =>
  transformer.before(
    { introspectComments: true, classValidatorShim: true, dtoFileNameSuffix: ['.dto.ts', '.response.ts'] },
    cs.program,
  );
