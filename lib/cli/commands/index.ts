import type { Command } from './types.js';
import { initCommand } from './init.js';
import { keysCommand } from './keys.js';
import { brokerCommand } from './broker.js';
import { tokenCommand } from './token.js';
import { devCommand } from './dev.js';
import { execCommand } from './exec.js';
import { clientConfigCommand } from './client-config.js';
import { doctorCommand } from './doctor.js';
import { connectCommand } from './connect.js';
import { daemonCommand } from './daemon.js';
import { auditCommand } from './audit.js';
import { policyCommand } from './policy.js';
import { toolsCommand } from './tools.js';

export const COMMANDS: readonly Command[] = [
  initCommand,
  keysCommand,
  brokerCommand,
  tokenCommand,
  daemonCommand,
  auditCommand,
  connectCommand,
  execCommand,
  clientConfigCommand,
  doctorCommand,
  policyCommand,
  toolsCommand,
  devCommand,
];
