/* Generated from schemas/error.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * ERROR-BODY: the JSON body of every error answer (4xx, 5xx): a plain message, optionally how to resolve it. Never ANSI colour codes or stack traces.
 */
export interface ErrorBody {
  error: string;
  resolution?: string;
  [k: string]: unknown;
}
