import { getQueueToken } from '@nestjs/bullmq';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/app.config';
import { TransactionRunner } from '../../src/core/database/transaction.runner';
import { uuidv7, uuidv7Time } from '../../src/core/database/uuidv7';
import { JobOutbox } from '../../src/core/queue/job-outbox';
import { QueueName } from '../../src/core/queue/queue-names';
import { REDIS } from '../../src/core/redis/redis.module';
import { PostScheduler } from '../../src/modules/posts/post-scheduler';
import type { TestAccount } from '../helpers/auth';

export interface ScheduledPost {
  id: string;
  createdAt: Date;
  organizationId: string;
  publishAt: Date;
  version: number;
}

export interface PostRow {
  status: string;
  version: number;
  publishAt: Date | null;
  publishedAt: Date | null;
}

/** Scheduling as the posts API does it, with the API app's queue, Redis and config. */
export function schedulerOf(app: NestFastifyApplication): PostScheduler {
  return new PostScheduler(
    app.get<Queue>(getQueueToken(QueueName.Posts)),
    app.get<Redis>(REDIS),
    app.get(AppConfig),
    app.get(JobOutbox),
    app.get(TransactionRunner),
  );
}

export function postsQueue(app: NestFastifyApplication): Queue {
  return app.get<Queue>(getQueueToken(QueueName.Posts));
}

/** A post row in status `scheduled` (version 1), written with plain SQL like the posts repository would. */
export async function insertScheduledPost(
  app: NestFastifyApplication,
  owner: TestAccount,
  publishAt: Date,
): Promise<ScheduledPost> {
  const id = uuidv7();
  const createdAt = uuidv7Time(id);
  await app.get(DataSource).query(
    `INSERT INTO posts (id, created_at, organization_id, author_id, title, slug, status, publish_at, version)
     VALUES ($1, $2, $3, $4, 'Scheduled post', $5, 'scheduled', $6, 1)`,
    [id, createdAt, owner.organizationId, owner.userId, `post-${randomUUID()}`, publishAt],
  );
  return { id, createdAt, organizationId: owner.organizationId, publishAt, version: 1 };
}

/** Applies a change as the API would (bumping the version) and returns the post's new version. */
export async function changePost(app: NestFastifyApplication, post: ScheduledPost, set: string): Promise<number> {
  const [rows] = await app
    .get(DataSource)
    .query<[{ version: number }[], number]>(
      `UPDATE posts SET ${set}, version = version + 1 WHERE id = $1 RETURNING version`,
      [post.id],
    );
  return rows[0].version;
}

export async function readPost(app: NestFastifyApplication, postId: string): Promise<PostRow> {
  const [row] = await app
    .get(DataSource)
    .query<PostRow[]>(
      'SELECT status, version, publish_at AS "publishAt", published_at AS "publishedAt" FROM posts WHERE id = $1',
      [postId],
    );
  return row;
}

/** The publish audit entries of a post, oldest first. */
export async function publishAudits(
  app: NestFastifyApplication,
  postId: string,
): Promise<{ actorId: string | null; details: { via: string; version: number } }[]> {
  return app
    .get(DataSource)
    .query(
      `SELECT actor_id AS "actorId", details FROM audit_logs WHERE action = 'posts.publish' AND resource_id = $1 ORDER BY occurred_at`,
      [postId],
    );
}

export const inMs = (ms: number): Date => new Date(Date.now() + ms);
