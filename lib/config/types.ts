/** The checked, frozen configuration. Paths are absolute; durations are seconds. */
export interface Config {
  readonly file: string;
  readonly dir: string;
  /** Absent for a daemon-only host: only the broker talks to the identity provider. */
  readonly idp: IdpConfig | undefined;
  readonly broker: BrokerConfig;
  readonly daemon: DaemonConfig;
  readonly servers: ReadonlyMap<string, ServerConfig>;
  readonly dev: DevConfig;
  /** CI workload identities the daemon's token endpoint accepts as subject tokens. */
  readonly workloads: readonly WorkloadTrust[];
}

export type IdpKind = 'oidc' | 'github';

export interface IdpConfig {
  readonly kind: IdpKind;
  readonly issuer: string;
  readonly client_id: string;
  readonly client_secret: string | undefined;
  readonly scopes: readonly string[];
  readonly user_claim: string;
  readonly groups_claim: string;
  /** A fixed loopback redirect URI for IdPs that match redirect URIs exactly (ports included). */
  readonly redirect_uri: string | undefined;
  /** GitHub (Enterprise Server) REST API base, e.g. https://ghe.example.com/api/v3. */
  readonly api_url: string | undefined;
}

export interface BrokerConfig {
  readonly mode: 'local' | 'daemon';
  readonly issuer: string;
  readonly signing_key: string | undefined;
  readonly token_ttl: number;
}

export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface DaemonLimits {
  readonly max_body_bytes: number;
  readonly max_sessions_per_user: number;
  readonly max_children: number;
  readonly idle_timeout: number;
  /** How long a child that has not yet said anything on stdout may stay silent (no output at all). */
  readonly start_timeout: number;
  /** How long a started child may stay silent while a request waits. */
  readonly first_response_timeout: number;
  readonly drain_timeout: number;
  /** Failed token exchanges one peer may make per minute before 429 (RFC 6585). */
  readonly max_failed_exchanges: number;
  /** Seconds a request's headers and body may take to arrive on any listener (408 and closed after). */
  readonly request_timeout: number;
  /** Seconds a kept-alive connection may idle between requests. */
  readonly keepalive_timeout: number;
  /** Connections at once per MCP listener (and the metrics and agent sockets). */
  readonly max_connections: number;
  /** Connections at once on the token endpoint's socket (mode 0666: anyone on the host may connect). */
  readonly token_max_connections: number;
}

export interface DaemonConfig {
  readonly trusted_keys: string;
  readonly audit_log: string;
  /** The daemon's Ed25519 private JWK that signs audit checkpoints (default: audit.jwk beside the broker key). */
  readonly audit_key: string;
  /** The last sealed (seq, hash) of the audit chain, kept outside the log ([daemon] audit_anchor). */
  readonly audit_anchor: string;
  /** A signed checkpoint after this many lines or seconds, whichever comes first. */
  readonly audit_checkpoint: { readonly lines: number; readonly interval: number };
  readonly tls: TlsFiles | undefined;
  /** The client certificate `gatekit connect` presents to mTLS listeners. */
  readonly client_tls: TlsFiles | undefined;
  readonly socket_group: string | undefined;
  /**
   * The account a shared daemon runs as (a user name or uid): clients send credentials to a Unix socket only
   * when it is owned by the current user, root, or this account.
   */
  readonly socket_owner: string | undefined;
  readonly token_listen: Listen | undefined;
  /** `GET /metrics` (Prometheus text) on its own listener, never an MCP one; off when undefined. */
  readonly metrics_listen: Listen | undefined;
  /** "auto": each child in a cgroup of its own where cgroup v2 is delegated to the daemon; "off": process groups only. */
  readonly cgroup?: 'auto' | 'off';
  /** Daemon mode: may an IdP access token be a subject token, and how is it proven ours? */
  readonly accept_access_tokens: 'off' | 'jwt' | 'introspection';
  /** Daemon mode: an ID token issued (iat) longer ago than this many seconds is refused. */
  readonly id_token_max_age: number;
  readonly limits: DaemonLimits;
  /** Tokens issued (iat) before these times are refused, per user: immediate revocation. */
  readonly not_before: ReadonlyMap<string, number>;
}

export type Listen =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

export interface ToolRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export interface Grant {
  readonly users: readonly string[];
  readonly groups: readonly string[];
  readonly tools: ToolRules;
  /** Resource URI globs this grant adds (empty when it names none). */
  readonly resources: ToolRules;
  /** Prompt name globs this grant adds (empty when it names none). */
  readonly prompts: ToolRules;
}

export interface ServerConfig {
  readonly name: string;
  readonly command: readonly string[];
  readonly cwd: string;
  readonly listen: Listen;
  readonly resource: string;
  readonly allow_users: readonly string[];
  readonly allow_groups: readonly string[];
  readonly tools: ToolRules;
  /**
   * Resource URI globs, in the normal form URIs are judged in (lib/mcp `normaliseUri`). Undefined: no `resources`
   * key, grant or rule names resources, and every resource is allowed as before.
   */
  readonly resources: ToolRules | undefined;
  /** Prompt name globs; undefined: nothing names prompts, every prompt is allowed. */
  readonly prompts: ToolRules | undefined;
  readonly grants: readonly Grant[];
  readonly env: Readonly<Record<string, string>>;
  readonly identity_meta: boolean;
  readonly audit_arguments: boolean;
  /**
   * Which access tokens this server accepts: "any" (bearer too, but a bound token always with its
   * proof or certificate), "dpop" (RFC 9449 DPoP-bound tokens with a valid proof only), "mtls"
   * (RFC 8705 certificate-bound tokens on an mTLS listener only).
   */
  readonly token_binding: TokenBinding;
  /** `[[servers.NAME.rule]]`: argument, rate and fresh-login rules for tool calls (lib/policy/rules.ts). */
  readonly rules: readonly ToolRule[];
  /**
   * What a tool unlike its pin in `gatekit.lock` does (lib/daemon/pin-watch.ts): "hide" it and refuse its calls,
   * "deny_server" (also refuse every request the child serves: calls, resources, prompts, completions, listens,
   * tasks; lib/daemon/method-gates.ts), or only "audit" it.
   */
  readonly on_tool_change: 'hide' | 'deny_server' | 'audit';
}

/** Checks on one argument of a tool call; every key set must pass. */
export interface ArgumentRule {
  /** Absolute, normalised directories; the (lexically normalised) path must be one of them or inside one. */
  readonly path_under?: readonly string[];
  /** Globs (lib/policy/glob.ts: `*` any run, `?` one character); the whole string must match one. */
  readonly pattern?: readonly string[];
  /** Exact values (strings, numbers or booleans). */
  readonly enum?: readonly (string | number | boolean)[];
  /** The most UTF-16 code units a string may have. */
  readonly max_length?: number;
}

/** A compiled JSON Schema check (ajv); returns the first failing instance path, or undefined when valid. */
export type SchemaCheck = (args: unknown) => { readonly path: string; readonly message: string } | undefined;

export interface RateRule {
  readonly count: number;
  readonly seconds: number;
  readonly text: string;
}

export interface ToolRule {
  /** Where it came from, e.g. `servers.fs.rule[0]`: every refusal names it. */
  readonly key: string;
  readonly tools: readonly string[];
  /** Resource URI globs (normal form) the rule applies to; its checks see `{ uri, path }`. */
  readonly resources: readonly string[];
  /** Prompt name globs the rule applies to; its checks see the prompt's arguments. */
  readonly prompts: readonly string[];
  /** Empty users and groups: the rule is for everyone admitted to the server. */
  readonly users: readonly string[];
  readonly groups: readonly string[];
  readonly args: Readonly<Record<string, ArgumentRule>>;
  readonly schema: SchemaCheck | undefined;
  readonly rate: RateRule | undefined;
  /** Seconds: the token's auth_time may be at most this old (step-up). */
  readonly fresh_login: number | undefined;
}

export type TokenBinding = 'any' | 'dpop' | 'mtls';

export interface DevConfig {
  /**
   * The config has a `[dev]` table: a development config. Only then may trusted keys and the issuers
   * the daemon trusts be plain http (loopback), as the embedded development IdP serves them.
   */
  readonly enabled: boolean;
  /** `gatekit dev` serves [idp] issuer itself with the embedded development provider. */
  readonly idp: boolean;
}

/** One `[[trust.workload]]`: a CI provider's OIDC tokens that may stand for an identity. */
export interface WorkloadTrust {
  readonly issuer: string;
  /** The `aud` the CI token must carry: Gatekit-specific, so tokens meant for others are useless here. */
  readonly audience: string;
  /** Claim → exact value or glob; all must match. */
  readonly claims: Readonly<Record<string, string>>;
  /** The identity's name; `{claim}` placeholders, default "repo:{repository}@{ref}". */
  readonly user: string;
  readonly groups: readonly string[];
}
