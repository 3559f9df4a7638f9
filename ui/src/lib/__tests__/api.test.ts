import { describe, expect, it } from 'vitest';
import { toAppError } from '../api';

describe('toAppError', () => {
  it('passes an AppError through', () => {
    expect(toAppError({ code: 'keyring_unavailable', message: 'locked' })).toEqual({
      code: 'keyring_unavailable',
      message: 'locked',
    });
  });

  it('wraps strings and Errors (e.g. Tauri argument errors)', () => {
    expect(toAppError('invalid args')).toEqual({ code: 'internal', message: 'invalid args' });
    expect(toAppError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom' });
    expect(toAppError({ code: 'x' })).toEqual({ code: 'x', message: '' });
  });
});
