export { evaluate, scopeFor, toolPatternsOf, isToolAllowed } from './evaluate.js';
export type { Decision, Principal } from './evaluate.js';
export { globMatch, matchesAny, MAX_TOOL_NAME_LENGTH } from './glob.js';
export { authorize } from './authorize.js';
export type { Authorization, TokenIdentity } from './authorize.js';
export { applicableRules, checkCall, pathOutside, PATH_MAX } from './rules.js';
export type { Call, RuleKind, Verdict } from './rules.js';
export { RateLimiter, RATE_BUCKETS_MAX } from './rate.js';
