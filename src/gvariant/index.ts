export { GVariantError, NotNormalFormError } from './errors.js';
export { parseType, isValidType, alignUp, type GVType, type BasicCode } from './type.js';
export { Variant, V, dictGet, type GValue, type VarDict } from './value.js';
export { serialize, deserialize, type ParseOptions } from './codec.js';
export { formatValue } from './text.js';
export { parseVariantText } from './parse-text.js';
