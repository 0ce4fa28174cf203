/** RFC 8693 §3 token type identifiers for `subject_token_type`: the wire words both sides of the exchange use. */
export const TOKEN_TYPES = {
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;
