// A fake backend for the store tests: every faked command is recorded in `calls` and answered by
// `responses[cmd]` (null without one), and the event handler the app installs is kept for `emit`.
// Made in `vi.hoisted` so that the `vi.mock('../api', …)` factory can use it:
//
//   const backend = await vi.hoisted(async () => (await import('./fakeBackend')).fakeBackend());
//   vi.mock('../api', async (importOriginal) => backend.api(await importOriginal(), { …more fakes }));
import type * as Api from '../api';
import type { ImEvent } from '../api';

export type Call = { cmd: string; args?: unknown };
export type Responses = Record<string, (args: any) => unknown>;

export function fakeBackend() {
  const calls: Call[] = [];
  /** The same object all along (tests keep it in a const): `reset` refills it. */
  const responses: Responses = {};
  let handler: ((e: ImEvent) => void) | null = null;

  /** A faked command: records the call and answers with `responses[cmd]`. */
  const call =
    (cmd: string) =>
    async (args?: unknown): Promise<unknown> => {
      calls.push({ cmd, args });
      const f = responses[cmd];
      return f ? f(args) : null;
    };

  return {
    calls,
    responses,
    call,
    /** Delivers an event to the app, as the backend would. */
    emit: (e: ImEvent) => handler!(e),
    count: (cmd: string) => calls.filter((c) => c.cmd === cmd).length,
    argsOf: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
    /** Before each test: no calls, no handler, these answers only. */
    reset(answers: Responses) {
      calls.length = 0;
      handler = null;
      for (const cmd of Object.keys(responses)) delete responses[cmd];
      Object.assign(responses, answers);
    },
    /**
     * The mocked api module: the real one, with the event subscription and the commands the
     * stores use in the background faked, and `more` on top (bootstrap, and what a test needs).
     */
    api(real: typeof Api, more: Record<string, unknown> = {}) {
      return {
        ...real,
        onImEvent: async (h: (e: ImEvent) => void) => {
          handler = h;
          return () => {};
        },
        signOut: call('sign_out'),
        listConversations: call('list_conversations'),
        loadMessages: call('load_messages'),
        markRead: call('mark_read'),
        setTyping: call('set_typing'),
        setActiveConversation: call('set_active_conversation'),
        setNotificationText: call('set_notification_text'),
        setLocale: call('set_locale'),
        connectionState: call('connection_state'),
        uiReady: call('ui_ready'),
        setMuted: call('set_muted'),
        leaveConversation: call('leave_conversation'),
        blockUser: call('block_user'),
        unblockUser: call('unblock_user'),
        blockedUsers: call('blocked_users'),
        listSessions: call('list_sessions'),
        revokeSession: call('revoke_session'),
        changePassword: call('change_password'),
        serverSignUpMode: call('server_sign_up_mode'),
        desktopSettings: call('desktop_settings'),
        setCloseToTray: call('set_close_to_tray'),
        setStartAtLogin: call('set_start_at_login'),
        muteNotifications: call('mute_notifications'),
        setHardwareAcceleration: call('set_hardware_acceleration'),
        restartApp: call('restart_app'),
        updateStatus: call('update_status'),
        checkForUpdates: call('check_for_updates'),
        installUpdate: call('install_update'),
        setAutoUpdate: call('set_auto_update'),
        cacheUsage: call('cache_usage'),
        clearCache: call('clear_cache'),
        ...more,
      };
    },
  };
}

export type FakeBackend = ReturnType<typeof fakeBackend>;
