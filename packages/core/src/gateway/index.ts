// etcd's JSON gateway (`/v3/...`) on a member's or a proxy's HTTP port.
export { registerGateway, gatewayPlugin, DEFAULT_GATEWAY_MAX_BODY_BYTES, type GatewayOptions } from './gateway.js';
export { GATEWAY_ROUTES, type GatewayRoute } from './routes.js';
export { messageToJson, messageToJsonObject } from './message-to-json.js';
export { jsonToMessage } from './json-to-message.js';
