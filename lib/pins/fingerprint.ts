import { hash } from 'node:crypto';
import { canonicalJson } from '../audit/index.js';

/** The fields of a tool definition a pin covers: what a person approved and a model reads. */
export const PINNED_FIELDS = ['name', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

/** A tool definition as a server lists it: only the pinned fields are read. */
export type ToolDefinition = { readonly name: string } & { readonly [field: string]: unknown };

/** The pinned fields of `tool` (absent ones left out), as the lock keeps them. */
export function pinnedPart(tool: ToolDefinition): Record<string, unknown> {
  const part: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS) if (tool[field] !== undefined) part[field] = tool[field];
  return part;
}

/**
 * "sha256:<base64url>" of the RFC 8785 canonical JSON of a tool's name, description, inputSchema, outputSchema and
 * annotations: the same definition gives the same fingerprint whatever the key order or whitespace. A definition
 * nesting deeper than 64 levels (the gate's own bound for client JSON) has no fingerprint: it matches no pin.
 */
export function toolFingerprint(tool: ToolDefinition): string {
  try {
    return `sha256:${hash('sha256', canonicalJson(pinnedPart(tool), 64), 'base64url')}`;
  } catch {
    return 'sha256:unhashable';
  }
}
