/** The edges of an interactive login: where to talk to the person, how to open a browser, when to stop. */
export interface LoginIO {
  /** Progress, URLs and codes: always stderr, never stdout. */
  readonly say: (line: string) => void;
  /** Undefined when no browser can be opened here. */
  readonly openBrowser?: ((url: string) => Promise<void>) | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Device flow only: called with the URL and code as soon as they exist (gatekit connect shows them in a tool error). */
  readonly onDeviceCode?: ((prompt: DevicePrompt) => void) | undefined;
  /**
   * Step-up: ask the provider to authenticate the person again even if it still has a session
   * (OIDC Core §3.1.2.1 `max_age=0`, plus `prompt=login` where the flow takes it), so `auth_time` is now.
   */
  readonly reauthenticate?: boolean | undefined;
}

export interface DevicePrompt {
  readonly verification_uri: string;
  readonly verification_uri_complete?: string | undefined;
  readonly user_code: string;
  readonly expires_at: number;
}
