export { initialize, keyFiles } from './initialize.js';
export { issueClientCertificate, certificateInfo, needsLocalCa } from './ca.js';
