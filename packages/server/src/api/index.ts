export { toServiceError } from './grpc-errors.js';
