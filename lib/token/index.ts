export { mintAccessToken } from './mint.js';
export type { MintInput, MintedToken } from './mint.js';
export { verifyAccessToken, verifySignedClaims, checkBinding, trustKeys } from './verify.js';
export type { TrustedKeys, VerifyOptions } from './verify.js';
export { VerifiedTokenCache } from './cache.js';
export { generateSigningJwk, publicJwk, loadSigningKey, readJwksFile, createKeys, rotateKeys } from './keys.js';
export type { SigningKey, JoseKey, PublicJwk, Jwks, KeyFiles } from './keys.js';
export { userOf, REGISTERED_CLAIMS } from './claims.js';
export { identityFromClaims } from './identity.js';
export type { ClaimNames } from './identity.js';
export type { AccessTokenClaims, Identity } from './claims.js';
export { loadTrustedKeys, openTrustedKeys, TrustedKeySource } from './trusted.js';
export type { TrustedKeyOptions } from './trusted.js';
export { fetchJwks, isAllowedKeyUrl, JWKS_MAX_BYTES } from './jwks-fetch.js';
export type { JwksFetchOptions } from './jwks-fetch.js';
export {
  verifyDpopProof, accessTokenHash, normalizeHtu, DpopReplayCache, DPOP_ALGORITHMS, DPOP_MAX_AGE,
} from './dpop.js';
export type { ProofCheck, VerifiedProof } from './dpop.js';
export { DpopKey } from './dpop-key.js';
