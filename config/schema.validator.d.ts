/** Types of the generated `schema.validator.js` (see gen-validator.ts). */
import type { ValidateFunction } from 'ajv';
import type { Config } from './schema.ts';

declare const validate: ValidateFunction<Config>;
export default validate;
