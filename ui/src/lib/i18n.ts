// A small i18n module: two dictionaries (English, Simplified Chinese), `{name}` placeholders,
// and the locale picked once from `navigator.languages` (zh* -> Chinese, anything else -> English).

export type Locale = 'en' | 'zh-CN';

const en = {
  'app.name': 'Gtedx IM',
  'app.loading': 'Loading…',

  'auth.signInTitle': 'Sign in to Gtedx IM',
  'auth.signUpTitle': 'Create your Gtedx IM account',
  'auth.formLabel': 'Account',
  'auth.serverUrl': 'Server',
  'auth.username': 'Username',
  'auth.password': 'Password',
  'auth.displayName': 'Display name',
  'auth.signIn': 'Sign in',
  'auth.signUp': 'Create account',
  'auth.signingIn': 'Signing in…',
  'auth.signingUp': 'Creating account…',
  'auth.toSignUp': 'No account yet? Sign up',
  'auth.toSignIn': 'Already have an account? Sign in',
  'auth.usernameHint': '3–32 characters: a–z, 0–9, _ . -',
  'auth.passwordHint': 'At least 8 characters',
  'auth.keyringTitle': 'The system keyring is missing or locked',
  'auth.keyringHelp':
    'Gtedx IM keeps your sign-in only in the system keyring (the Secret Service, e.g. gnome-keyring or KWallet) and never in a plain file. The keyring is not installed or not unlocked, so your credentials were not stored. Unlock or install a keyring, then try again.',
  'auth.signedOut': 'You were signed out: {reason}',
  'auth.signedOutNoReason': 'You were signed out.',

  'main.me': 'Signed in as {name}',
  'main.signOut': 'Sign out',
  'main.newChat': 'New chat',
  'main.conversations': 'Conversations',
  'main.noConversations': 'No conversations yet. Start one with “New chat”.',
  'main.pickConversation': 'Select a conversation to start messaging',

  'signOut.title': 'Sign out of Gtedx IM?',
  'signOut.text': 'You can sign in again at any time with your username and password.',
  'signOut.offline': 'You are offline: the server is told as soon as the app can reach it.',
  'signOut.forgetData': "Also remove this account's messages from this computer",
  'signOut.cancel': 'Cancel',
  'signOut.confirm': 'Sign out',
  'signOut.busy': 'Signing out…',

  'identity.similar': 'Another contact has a similar name',
  'identity.similarTo': 'Another contact has a similar name: {names}. Check the username.',
  'identity.username': 'Username: {username}',

  'list.you': 'You: {text}',
  'list.sender': '{name}: {text}',
  'list.noMessages': 'No messages yet',
  'list.unread': '{n} unread',
  'list.failed': 'Not sent',

  'chat.members': '{n} members',
  'chat.messages': 'Messages',
  'chat.loadingOlder': 'Loading older messages…',
  'chat.beginning': 'This is the beginning of the conversation',
  'chat.empty': 'No messages here yet. Say hello!',
  'chat.today': 'Today',
  'chat.yesterday': 'Yesterday',
  'chat.toBottom': 'Scroll to the newest message',

  'msg.sending': 'Sending',
  'msg.sent': 'Sent',
  'msg.read': 'Read',
  'msg.failed': 'Not sent',
  'msg.retry': 'Retry',
  'msg.retryLabel': 'Retry sending this message',

  'composer.label': 'Message',
  'composer.placeholder': 'Write a message…',
  'composer.send': 'Send',
  'composer.count': '{count} / {max}',
  'composer.tooLong': 'The message is too long ({count} of {max} characters)',

  'typing.one': '{name} is typing…',
  'typing.two': '{a} and {b} are typing…',
  'typing.many': '{n} people are typing…',

  'banner.connecting': 'Connecting…',
  'banner.offline': 'Offline — messages will be sent when you reconnect',
  'banner.reconnecting': 'Reconnecting in {s} s (attempt {n})…',
  'banner.failed': 'Something went wrong inside the app. Restart it; unsent messages are kept.',
  'banner.reconnectingNow': 'Reconnecting (attempt {n})…',

  'newChat.title': 'New chat',
  'newChat.close': 'Close',
  'newChat.direct': 'Message someone',
  'newChat.username': 'Username',
  'newChat.usernamePlaceholder': 'Their username',
  'newChat.start': 'Start chat',
  'newChat.group': 'Group chat',
  'newChat.groupTitle': 'Group name',
  'newChat.add': 'Add to group',
  'newChat.members': 'Members',
  'newChat.noMembers': 'Add people by username with “Add to group”.',
  'newChat.remove': 'Remove {name}',
  'newChat.createGroup': 'Create group',
  'newChat.notFound': 'No user named “{username}”.',
  'newChat.enterUsername': 'Enter a username.',
  'newChat.isYou': 'That is you.',
  'newChat.alreadyAdded': '{name} is already in the list.',
  'newChat.needMembers': 'A group needs at least 2 other members (with one it would be a 1:1 chat).',
  'newChat.groupHint': 'Add at least 2 people to create a group ({n} more). For one person, use “Start chat”.',
  'newChat.needTitle': 'Give the group a name.',

  'error.generic': 'Something went wrong.',
  'error.unexpected': 'Something went wrong: {detail}',
  'error.dismiss': 'Dismiss',
  'error.notifications': 'Notifications',
  'error.paneFailed': 'This part of the window could not be shown.',
  'error.retry': 'Retry',
} as const;

export type MessageKey = keyof typeof en;
type Dict = Record<MessageKey, string>;

const zh: Dict = {
  'app.name': 'Gtedx IM',
  'app.loading': '正在加载…',

  'auth.signInTitle': '登录 Gtedx IM',
  'auth.signUpTitle': '注册 Gtedx IM 账号',
  'auth.formLabel': '账号',
  'auth.serverUrl': '服务器',
  'auth.username': '用户名',
  'auth.password': '密码',
  'auth.displayName': '昵称',
  'auth.signIn': '登录',
  'auth.signUp': '注册',
  'auth.signingIn': '正在登录…',
  'auth.signingUp': '正在注册…',
  'auth.toSignUp': '还没有账号？注册',
  'auth.toSignIn': '已有账号？登录',
  'auth.usernameHint': '3–32 个字符：a–z、0–9、_ . -',
  'auth.passwordHint': '至少 8 个字符',
  'auth.keyringTitle': '系统密钥环缺失或已锁定',
  'auth.keyringHelp':
    'Gtedx IM 只把登录信息保存在系统密钥环（Secret Service，例如 gnome-keyring 或 KWallet）中，绝不写入普通文件。系统密钥环未安装或未解锁，因此你的凭据没有被保存。请解锁或安装密钥环后重试。',
  'auth.signedOut': '你已退出登录：{reason}',
  'auth.signedOutNoReason': '你已退出登录。',

  'main.me': '当前账号：{name}',
  'main.signOut': '退出登录',
  'main.newChat': '发起聊天',
  'main.conversations': '会话',
  'main.noConversations': '还没有会话。点击“发起聊天”开始吧。',
  'main.pickConversation': '选择一个会话开始聊天',

  'signOut.title': '退出 Gtedx IM 登录？',
  'signOut.text': '之后可以随时用用户名和密码重新登录。',
  'signOut.offline': '当前处于离线状态：应用连上服务器后会立即通知服务器。',
  'signOut.forgetData': '同时从这台电脑上删除此账号的消息',
  'signOut.cancel': '取消',
  'signOut.confirm': '退出登录',
  'signOut.busy': '正在退出…',

  'identity.similar': '另一位联系人的名字与此相似',
  'identity.similarTo': '另一位联系人的名字与此相似：{names}。请核对用户名。',
  'identity.username': '用户名：{username}',

  'list.you': '我：{text}',
  'list.sender': '{name}：{text}',
  'list.noMessages': '暂无消息',
  'list.unread': '{n} 条未读',
  'list.failed': '发送失败',

  'chat.members': '{n} 位成员',
  'chat.messages': '消息',
  'chat.loadingOlder': '正在加载更早的消息…',
  'chat.beginning': '会话从这里开始',
  'chat.empty': '这里还没有消息，打个招呼吧！',
  'chat.today': '今天',
  'chat.yesterday': '昨天',
  'chat.toBottom': '跳到最新消息',

  'msg.sending': '发送中',
  'msg.sent': '已发送',
  'msg.read': '已读',
  'msg.failed': '发送失败',
  'msg.retry': '重试',
  'msg.retryLabel': '重新发送这条消息',

  'composer.label': '消息',
  'composer.placeholder': '输入消息…',
  'composer.send': '发送',
  'composer.count': '{count} / {max}',
  'composer.tooLong': '消息过长（{count} / {max} 个字符）',

  'typing.one': '{name} 正在输入…',
  'typing.two': '{a} 和 {b} 正在输入…',
  'typing.many': '{n} 人正在输入…',

  'banner.connecting': '正在连接…',
  'banner.offline': '已离线 — 重新连接后将自动发送消息',
  'banner.reconnecting': '{s} 秒后重新连接（第 {n} 次尝试）…',
  'banner.failed': '应用内部出错。请重新启动应用；未发送的消息会保留。',
  'banner.reconnectingNow': '正在重新连接（第 {n} 次尝试）…',

  'newChat.title': '发起聊天',
  'newChat.close': '关闭',
  'newChat.direct': '单聊',
  'newChat.username': '用户名',
  'newChat.usernamePlaceholder': '对方的用户名',
  'newChat.start': '开始聊天',
  'newChat.group': '群聊',
  'newChat.groupTitle': '群名称',
  'newChat.add': '加入群成员',
  'newChat.members': '成员',
  'newChat.noMembers': '输入用户名后点击“加入群成员”。',
  'newChat.remove': '移除 {name}',
  'newChat.createGroup': '创建群聊',
  'newChat.notFound': '找不到用户“{username}”。',
  'newChat.enterUsername': '请输入用户名。',
  'newChat.isYou': '这是你自己。',
  'newChat.alreadyAdded': '{name} 已在列表中。',
  'newChat.needMembers': '群聊至少需要另外 2 位成员（只有一位时就是单聊）。',
  'newChat.groupHint': '至少添加 2 人才能创建群聊（还需 {n} 人）。只和一个人聊天请用“开始聊天”。',
  'newChat.needTitle': '请填写群名称。',

  'error.generic': '出错了。',
  'error.unexpected': '出错了：{detail}',
  'error.dismiss': '关闭',
  'error.notifications': '通知',
  'error.paneFailed': '这部分内容无法显示。',
  'error.retry': '重试',
};

/** Error codes the UI words itself in Chinese (the backend's messages are English). */
const zhErrors: Record<string, string> = {
  wrong_credentials: '用户名或密码错误。',
  username_taken: '该用户名已被占用。',
  invalid_username: '用户名须为 3–32 个字符，只能包含 a–z、0–9、_ . -。',
  invalid_password: '密码长度须为 8–256 字节。',
  user_not_found: '找不到该用户。',
  conversation_not_found: '找不到该会话。',
  not_member: '你不是该会话的成员。',
  rate_limited: '操作过于频繁，请稍后再试。',
  text_too_long: '消息过长。',
  field_too_long: '内容过长。',
  too_many_members: '成员过多。',
  invalid_token: '登录已失效，请重新登录。',
  overloaded: '服务器繁忙，请稍后再试。',
  shutting_down: '服务器正在关闭，请稍后再试。',
  storage_full: '服务器存储空间已满，消息将稍后自动重发。',
  internal: '服务器内部错误，请重试。',
  keyring_unavailable: '系统密钥环缺失或已锁定，凭据没有被保存。',
};

const dicts: Record<Locale, Dict> = { en, 'zh-CN': zh };

/** zh, zh-CN, zh-Hans, zh-TW… -> Chinese; anything else (or nothing) -> English. */
export function pickLocale(languages: readonly (string | undefined | null)[]): Locale {
  const first = languages.find((l) => !!l);
  return first && /^zh([-_]|$)/i.test(first) ? 'zh-CN' : 'en';
}

export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function createTranslator(locale: Locale): Translate {
  const dict = dicts[locale];
  return (key, params) => format(dict[key] ?? en[key] ?? key, params);
}

/** Text for a backend error: Chinese wording for known codes, else the backend's message. */
export function errorText(locale: Locale, err: { code: string; message: string }): string {
  if (locale === 'zh-CN' && zhErrors[err.code]) return zhErrors[err.code];
  return err.message || createTranslator(locale)('error.generic');
}

function detectLocale(): Locale {
  if (typeof navigator === 'undefined') return 'en';
  return pickLocale([navigator.language, ...(navigator.languages ?? [])]);
}

/** The app's locale, chosen once at start. */
export const locale: Locale = detectLocale();
export const t: Translate = createTranslator(locale);

export type AuthErrorView = { title: string | null; help: string | null; text: string };

/**
 * What the sign-in screen shows for an error. `keyring_unavailable` (from restore_session,
 * sign_in or sign_up) gets a heading and an explanation in the UI's language, plus the backend's
 * message as the detail; other errors are one line.
 */
export function authErrorView(locale: Locale, err: { code: string; message: string }): AuthErrorView {
  if (err.code === 'keyring_unavailable') {
    const tr = createTranslator(locale);
    return { title: tr('auth.keyringTitle'), help: tr('auth.keyringHelp'), text: err.message };
  }
  return { title: null, help: null, text: errorText(locale, err) };
}
