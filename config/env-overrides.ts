/** @module Environment overrides of the config file, one table (STYLE §5); each maps to a top-level key.
 *  Kept apart from schema.ts so that a start does not load TypeBox just for this table: the schema is
 *  compiled ahead of time (gen-validator.ts) and its TypeBox form is needed only for types. */
export const ENV_OVERRIDES: Record<string, string> = {
  KICLOUD_LISTEN: 'listen',
  KICLOUD_PUBLIC_URL: 'public_url',
  KICLOUD_DATA_DIR: 'data_dir',
  KICLOUD_ENVS_DIR: 'envs_dir',
  KICLOUD_LOG_LEVEL: 'log_level',
};
