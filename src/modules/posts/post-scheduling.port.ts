/**
 * What the posts service tells the scheduler, inside the transaction of the change: `schedule` after a post
 * became (or stayed) scheduled at `version`, `cancel` after it stopped being scheduled at `version`. The
 * scheduler makes its job durable with that transaction and tidies up once it commits.
 */
export abstract class PostSchedulingPort {
  abstract schedule(post: {
    id: string;
    createdAt: Date;
    organizationId: string;
    publishAt: Date;
    version: number;
  }): Promise<void>;
  abstract cancel(postId: string, version: number): Promise<void>;
}
