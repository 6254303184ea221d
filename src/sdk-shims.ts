import process from 'node:process';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/server';

// What the bundle (scripts/bundle.mjs) gives the SDK for `@modelcontextprotocol/server/_shims`: its
// Node shims without Ajv, some 280 KB a start would compile and evaluate for nothing. The SDK validates
// JSON Schema only for elicitation answers and fromJsonSchema, and this server uses neither.

export { process };

export class DefaultJsonSchemaValidator implements jsonSchemaValidator {
  getValidator<T>(_schema: JsonSchemaType): JsonSchemaValidator<T> {
    throw new Error('checkpoint-mcp is built without a JSON Schema validator: it never elicits input');
  }
}
