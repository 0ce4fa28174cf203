export { initialize, keyFiles } from './initialize.js';
export type { InitResult } from './initialize.js';
export { ensureLocalCa, issueClientCertificate, certificateInfo, caKeyFile } from './ca.js';
