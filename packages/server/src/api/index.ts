export { ClientServer } from './client-server.js';
export { API_VERSION } from './maintenance-service.js';
export { toServiceError } from './grpc-errors.js';
