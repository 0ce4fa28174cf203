export { initialize, keyFiles } from './initialize.js';
export type { InitResult } from './initialize.js';
export { issueClientCertificate, certificateInfo, needsLocalCa } from './ca.js';
export type { CaSource, CertificateInfo, PemFiles, SetupFiles } from './ca.js';
