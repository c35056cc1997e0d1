import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whole-word search over customers (issue #9). The trigram index alone answers `q` with every row sharing
 * trigrams with it (~20k candidates for a common last name on 1M rows), each fetched and re-ranked; the words
 * of `search` in a GIN index narrow that to the rows that contain the words. The 'simple' configuration
 * lower-cases and keeps every word as it is (no stemming, no stop words): names, emails and phone numbers
 * are not English prose. The trigram index stays for the typo fallback.
 *
 * Adding a stored generated column rewrites the table under an exclusive lock (about half a minute per
 * million rows on the bench machine): schedule it like any table rewrite.
 */
export class CustomersSearchTsv1764907200000 implements MigrationInterface {
  name = 'CustomersSearchTsv1764907200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // The text of `search` (migration 1764554400000), repeated: a generated column cannot read another one.
    await queryRunner.query(`
      ALTER TABLE customers ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', lower(coalesce(name, '') || ' ' || coalesce(email::text, '') || ' ' || coalesce(company, '') || ' ' || coalesce(phone, '')))
      ) STORED`);
    await queryRunner.query(
      'CREATE INDEX customers_search_tsv_idx ON customers USING gin (search_tsv) WHERE deleted_at IS NULL',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX customers_search_tsv_idx');
    await queryRunner.query('ALTER TABLE customers DROP COLUMN search_tsv');
  }
}
