import { Injectable } from '@nestjs/common';

/** Set on SIGTERM: readiness turns 503 first so load balancers stop sending traffic before we close. */
@Injectable()
export class ShutdownState {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  startDraining(): void {
    this.draining = true;
  }
}
