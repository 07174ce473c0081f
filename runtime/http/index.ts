// The runtime's HTTP server (one per process) and what features use to add routes to it.
export { startHttpServer, toJsonText, DEFAULT_MAX_BODY_BYTES } from './http-server.ts';
export type {
  HttpServer,
  HttpServerOptions,
  HttpRoutes,
  HttpHandler,
  HttpRequest,
  HttpResponse,
  RouteOptions,
} from './http-server.ts';
export type { PathPattern } from './route-table.ts';
export { parseHttpAddress, formatHttpAuthority, DEFAULT_HTTP_HOST } from './http-address.ts';
export type { HttpAddress } from './http-address.ts';
export { HttpError } from './http-error.ts';
