// Entry for the TypeORM CLI (`npm run migration:*`): same options as the app, entities not needed.
import { DataSource } from 'typeorm';
import { loadConfigOrExit } from '../../config/load-config';
import { dataSourceOptions } from './data-source.options';

export default new DataSource(dataSourceOptions(loadConfigOrExit(), 'atrium-migrations'));
