import { GatekitError, isGatekitError } from '../errors.js';
import type { Config } from '../config/index.js';
import { initialize } from '../setup/index.js';
import { devBanner } from './banner.js';
import { DEV_PASSWORD, DEV_USERS } from './users.js';

/** The dev IdP's port is taken: usually another `gatekit dev` serving the same config. */
export function isPortInUse(err: unknown): boolean {
  return isGatekitError(err) && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

export interface DevHandle {
  readonly issuer: string;
  readonly banner: string;
  close(): Promise<void>;
}

/**
 * `gatekit dev`: serves the config's [idp] issuer with the embedded development provider and creates
 * any missing keys, so that login, tokens and the daemon work with no other set-up. `command` is how the
 * person runs Gatekit, for the banner's next steps.
 */
export async function startDev(config: Config, options: { command?: string } = {}): Promise<DevHandle> {
  const idp = config.idp;
  if (!config.dev.idp || !idp || idp.kind !== 'oidc') {
    throw new GatekitError(
      'CONFIG_INVALID',
      `${config.file}: gatekit dev serves the [idp] issuer itself only with [dev] idp = true and an OpenID [idp]`,
      {
        hint: 'add "[dev]\\nidp = true" with [idp] issuer = "http://127.0.0.1:7400" (see the example gatekit.toml)',
      },
    );
  }
  await initialize(config, { force: false });
  const { startDevIdp } = await import('./idp-start.js');
  const provider = await startDevIdp({ issuer: idp.issuer, clientId: idp.client_id });
  return {
    issuer: provider.issuer,
    banner: devBanner(config, provider.issuer, DEV_USERS, DEV_PASSWORD, options.command),
    close: () => provider.close(),
  };
}
