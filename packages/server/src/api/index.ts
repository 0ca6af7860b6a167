export { toServiceError } from './grpc-errors.js';
export { type ClientServices, type ClientServicesMember, type ServiceBinding, clientServices, peerServices } from './member-services.js';
