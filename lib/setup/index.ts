export { initialize, keyFiles } from './initialize.js';
export type { InitResult } from './initialize.js';
export { ensureLocalCa, issueClientCertificate, certificateInfo, caKeyFile, needsLocalCa, CLIENT_CN } from './ca.js';
export type { CaSource, CertificateInfo, PemFiles, SetupFiles } from './ca.js';
