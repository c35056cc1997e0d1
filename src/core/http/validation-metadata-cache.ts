import { getMetadataStorage, type MetadataStorage } from 'class-validator';

type TargetMetadatas = ReturnType<MetadataStorage['getTargetValidationMetadatas']>;
type GroupedMetadatas = ReturnType<MetadataStorage['groupByPropertyName']>;

const cached = new WeakSet<MetadataStorage>();

/**
 * Memoizes class-validator's per-class rule lookup on `storage` (the process-wide one by default).
 *
 * For every object it validates, class-validator looks up the rules of its class by walking every class
 * that has rules (an `instanceof` per class, for inherited rules) and then groups them by property: a
 * few percent of a small request's CPU, for an answer that only changes when rules are registered. So the
 * answer is kept per class, for lookups without groups or schema (the only ones the API's pipe makes;
 * others go through unchanged), and the whole cache is dropped whenever anything is registered (a class
 * decorated later, a mapped type built at runtime, a schema), so a lookup never misses a rule.
 *
 * Callers must treat the arrays as read-only; class-validator's validator and Nest's mapped types do.
 */
export function cacheValidationMetadata(storage: MetadataStorage = getMetadataStorage()): void {
  if (cached.has(storage)) return;
  cached.add(storage);

  let byClass = new Map<unknown, Map<string, TargetMetadatas>>();
  let grouped = new WeakMap<TargetMetadatas, GroupedMetadatas>();
  const forget = () => {
    byClass = new Map();
    grouped = new WeakMap();
  };

  const lookup = storage.getTargetValidationMetadatas.bind(storage);
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    if (schema || (groups && groups.length > 0)) return lookup(target, schema, always, strictGroups, groups);
    const key = `${always ? 1 : 0}${strictGroups ? 1 : 0}`;
    let perClass = byClass.get(target);
    const hit = perClass?.get(key);
    if (hit) return hit;
    const found = lookup(target, schema, always, strictGroups, groups);
    if (!perClass) {
      perClass = new Map();
      byClass.set(target, perClass);
    }
    perClass.set(key, found);
    return found;
  };

  const group = storage.groupByPropertyName.bind(storage);
  storage.groupByPropertyName = (metadatas) => {
    let byProperty = grouped.get(metadatas);
    if (!byProperty) {
      byProperty = group(metadatas);
      grouped.set(metadatas, byProperty);
    }
    return byProperty;
  };

  const addValidationMetadata = storage.addValidationMetadata.bind(storage);
  storage.addValidationMetadata = (metadata) => {
    forget();
    addValidationMetadata(metadata);
  };
  const addConstraintMetadata = storage.addConstraintMetadata.bind(storage);
  storage.addConstraintMetadata = (metadata) => {
    forget();
    addConstraintMetadata(metadata);
  };
  const addValidationSchema = storage.addValidationSchema.bind(storage);
  storage.addValidationSchema = (schema) => {
    forget();
    addValidationSchema(schema);
  };
}
