import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { RepeatingPass } from '../../core/lifecycle/repeating-pass';
import { AuditChainer } from './audit-chainer';

/** Pause between two passes: the chain lags its entries' commits by about this much. */
export const CHAIN_INTERVAL_MS = 200;
/** Batches per chain per pass, so that one busy organization cannot starve the others' chains. */
const MAX_BATCHES_PER_CHAIN = 20;

/**
 * Runs the chainer in the worker process: a pass links every chain's pending entries, and the next pass
 * starts CHAIN_INTERVAL_MS after the previous one ended (never two passes at once in a process; several
 * workers may chain at the same time, which the head lock makes safe). Not a BullMQ job: linking must go on
 * while Redis is down, since entries keep being written then.
 */
@Injectable()
export class AuditChainLoop implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditChainLoop.name);
  private readonly loop = new RepeatingPass(() => this.pass());

  constructor(private readonly chainer: AuditChainer) {}

  onApplicationBootstrap(): void {
    this.loop.start(0);
  }

  /** onModuleDestroy, not onApplicationShutdown: it runs before the database connections are closed. */
  async onModuleDestroy(): Promise<void> {
    // A pass in flight finishes its batch (or rolls it back): either way no entry is half-linked.
    await this.loop.stop();
  }

  private async pass(): Promise<number> {
    try {
      await this.chainer.chainAll(MAX_BATCHES_PER_CHAIN);
    } catch (error) {
      // PostgreSQL down or a connection lost: the entries stay pending and the next pass retries.
      this.logger.warn(`audit chaining pass failed: ${String(error)}`);
    }
    return CHAIN_INTERVAL_MS;
  }
}
