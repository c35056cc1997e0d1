/** Who is calling, as established by the JWT guard from a verified access token and a live session. */
export interface AuthUser {
  id: string;
  organizationId: string;
  sessionId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: AuthUser;
  }
}
