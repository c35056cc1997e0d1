import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MetricsController } from '../src/core/metrics/metrics.controller';
import { expectProblem } from './helpers/problem';
import { createTestApp } from './helpers/test-app';

describe(MetricsController.name, () => {
  describe('with metrics enabled', () => {
    let app: NestFastifyApplication;
    let page: string;
    let contentType: string | undefined;

    beforeAll(async () => {
      app = await createTestApp({ METRICS_ENABLED: 'true' });
      expect((await app.inject('/health/live')).statusCode).toBe(200);
      expect((await app.inject('/health/live')).statusCode).toBe(200);
      expect((await app.inject('/api/v1/nope')).statusCode).toBe(404);
      const res = await app.inject('/metrics');
      expect(res.statusCode).toBe(200);
      page = res.body;
      contentType = res.headers['content-type'];
    });
    afterAll(async () => {
      await app.close();
    });

    it('should serve the Prometheus text format when scraped', () => {
      expect(contentType).toMatch(/^text\/plain/);
      expect(page).toContain('# TYPE http_request_duration_seconds histogram');
    });

    it('should count requests by method, route template and status when routes were called', () => {
      expect(page).toContain('http_request_duration_seconds_count{method="GET",route="/health/live",status="200"} 2\n');
      expect(page).toMatch(
        /^http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/health\/live",status="200"\} 2$/m,
      );
    });

    it('should record an unmatched request under one label, not its raw url, when no route matches', () => {
      expect(page).not.toContain('route="/api/v1/nope"');
      expect(page).toContain('http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1\n');
    });

    it('should report the depth of every queue by state when scraped', () => {
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
        expect(page).toMatch(new RegExp(`^queue_jobs\\{queue="system",state="${state}"\\} \\d+$`, 'm'));
        expect(page).toMatch(new RegExp(`^queue_jobs\\{queue="posts",state="${state}"\\} \\d+$`, 'm'));
      }
    });

    it('should include the default process metrics when scraped', () => {
      expect(page).toMatch(/^process_cpu_seconds_total \d/m);
      expect(page).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    });
  });

  describe('with METRICS_ENABLED=false', () => {
    let app: NestFastifyApplication;
    beforeAll(async () => {
      app = await createTestApp({ METRICS_ENABLED: 'false' });
    });
    afterAll(async () => {
      await app.close();
    });

    it('should answer 404 problem+json when scraped', async () => {
      const res = await app.inject('/metrics');
      expectProblem(res, 404, 'not-found');
      expect(res.body).not.toContain('http_request_duration_seconds');
    });
  });
});
