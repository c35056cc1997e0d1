export abstract class PostSchedulingPort {
  abstract schedule(post: {
    id: string;
    createdAt: Date;
    organizationId: string;
    publishAt: Date;
    version: number;
  }): Promise<void>;
  abstract cancel(postId: string): Promise<void>;
}
