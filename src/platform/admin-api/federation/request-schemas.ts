/** JSON schemas the federation admin routes share. */
export const tags = ['federation'];
export const jsonObject = { type: 'object', additionalProperties: true } as const;
export const nullableObject = { type: ['object', 'null'], additionalProperties: true } as const;
export const entityTypes = {
  type: 'array',
  maxItems: 20,
  items: { type: 'string', minLength: 1, maxLength: 64 },
} as const;
export const policyCrit = {
  type: 'array',
  minItems: 1,
  maxItems: 20,
  items: { type: 'string', minLength: 1, maxLength: 100 },
} as const;
// The Entity Identifier is one URL-encoded path segment: /federation/subordinates/https%3A%2F%2Frp.example
export const entityParams = {
  type: 'object',
  required: ['entityId'],
  properties: { entityId: { type: 'string', minLength: 1, maxLength: 2048 } },
} as const;
export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
export const kidParams = {
  type: 'object',
  required: ['kid'],
  properties: { kid: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;
