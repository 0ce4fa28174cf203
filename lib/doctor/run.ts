import type { Config } from '../config/index.js';
import { brokerContext, brokerStatus } from '../broker/index.js';
import { fileChecks } from './files.js';
import { daemonCheck, idpCheck } from './network.js';
import { fail, pass, type CheckResult } from './result.js';
import { daemonFilesCheck, pinChecks, serverCheck } from './servers.js';

/** Every check `gatekit doctor` runs, in the order a person would fix things. */
export async function runDoctor(config: Config, env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const results: CheckResult[] = [pass('config', config.file), ...fileChecks(config)];
  results.push(await idpCheck(config));
  if (config.idp) results.push(sessionCheck(config, env));
  results.push(await daemonFilesCheck(config));
  results.push(...pinChecks(config));
  results.push(...(await Promise.all([...config.servers.values()].map((s) => serverCheck(config, s)))));
  results.push(...(await Promise.all([...config.servers.values()].map((s) => daemonCheck(config, s)))));
  return results;
}

function sessionCheck(config: Config, env: NodeJS.ProcessEnv): CheckResult {
  const status = brokerStatus(brokerContext(config, env));
  if (!status.logged_in) return fail('login', 'not logged in', `gatekit broker login --config ${config.file}`);
  const valid = status.tokens.filter((t) => !t.expired).length;
  return pass(
    'login',
    `${status.user}; ${status.renewable ? 'renewable' : `ends ${status.session_expires_at ?? 'soon'}`}; ${valid} valid token(s) cached`,
  );
}
