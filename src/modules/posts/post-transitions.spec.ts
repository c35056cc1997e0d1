import { POST_STATUSES, type PostStatus } from './post.entity';
import { allowedActions, canApply, POST_ACTIONS, targetStatus, type PostAction } from './post-transitions';

describe('post transitions', () => {
  it.each<[PostStatus, PostAction[]]>([
    ['draft', ['publish', 'schedule', 'archive']],
    ['scheduled', ['publish', 'schedule', 'unschedule', 'archive']],
    ['published', ['archive']],
    ['archived', ['unarchive']],
  ])('should allow from %s exactly %j', (status, actions) => {
    expect(allowedActions(status)).toEqual(actions);
  });

  it('should agree between canApply and allowedActions for every pair', () => {
    for (const status of POST_STATUSES) {
      for (const action of POST_ACTIONS) {
        expect(canApply(status, action)).toBe(allowedActions(status).includes(action));
      }
    }
  });

  it.each<[PostAction, PostStatus]>([
    ['publish', 'published'],
    ['schedule', 'scheduled'],
    ['unschedule', 'draft'],
    ['archive', 'archived'],
    ['unarchive', 'draft'],
  ])('should lead %s to %s', (action, status) => {
    expect(targetStatus(action)).toBe(status);
  });

  it('should refuse to publish a published post and to archive an archived one when asked again', () => {
    expect(canApply('published', 'publish')).toBe(false);
    expect(canApply('archived', 'archive')).toBe(false);
  });
});
