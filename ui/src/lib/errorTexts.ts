// Owns the wording of every error code the backend can send the UI, in English and Chinese: the
// server's codes (im-proto's `ErrorCode`, docs/PROTOCOL.md §7), the client SDK's
// (`im_sdk::Error::code`) and the desktop app's own (src-tauri's `AppError`). The backend's
// messages are terse, lower-case and English (`wrong username or password`); the UI shows these
// sentences instead, wherever an error is shown (`errorText` in ./i18n.ts).
import type { Locale } from './i18n';

/** The server's error codes (`unknown`: a code from a newer server the SDK does not know). */
export const SERVER_ERROR_CODES = [
  'malformed_frame',
  'unknown_op',
  'invalid_params',
  'bad_id',
  'frame_too_large',
  'hello_required',
  'unsupported_version',
  'unauthenticated',
  'already_signed_in',
  'invalid_username',
  'invalid_password',
  'invalid_display_name',
  'username_taken',
  'wrong_credentials',
  'sign_up_closed',
  'invite_required',
  'invite_invalid',
  'account_disabled',
  'session_not_found',
  'invalid_token',
  'rate_limited',
  'user_not_found',
  'conversation_not_found',
  'not_member',
  'not_manager',
  'blocked',
  'single_chat_members_fixed',
  'too_many_members',
  'text_too_long',
  'field_too_long',
  'shutting_down',
  'storage_full',
  'internal',
  'unknown',
] as const;

/** The client SDK's own codes (reaching the server, its certificate, the cache on this computer…). */
export const SDK_ERROR_CODES = [
  'offline',
  'disconnected',
  'timeout',
  'connect_failed',
  'tls_untrusted',
  'tls_expired',
  'tls_wrong_host',
  'tls_revoked',
  'tls_failed',
  'cache_not_set',
  'cache_already_set',
  'cache_owned_by_other',
  'cache',
  'closed',
  'failed',
  'signed_out',
  'invalid_input',
  'protocol',
] as const;

/** The desktop app's own codes (src-tauri). */
export const APP_ERROR_CODES = [
  'not_signed_in',
  'keyring_unavailable',
  'invalid_server_address',
  'insecure_server',
  'autostart',
] as const;

/** Every code the backend can send the UI: each has a sentence in both languages. */
export const ERROR_CODES = [...SERVER_ERROR_CODES, ...SDK_ERROR_CODES, ...APP_ERROR_CODES] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isKnownErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

/** What every code says to the user, per language. */
export const errorMessages: Record<Locale, Record<ErrorCode, string>> = {
  en: {
    // The server.
    malformed_frame: 'The server could not read a request from this app. Updating the app may help.',
    unknown_op: "The server does not know this request: it may be older than the app. Ask the server's administrator to update it.",
    invalid_params: 'The server refused a request from this app as invalid. Try again; if it keeps happening, update the app.',
    bad_id: 'Something in the request was not a valid id. Try again.',
    frame_too_large: 'This is too large to send to the server.',
    hello_required: 'The connection to the server was not set up properly. Try again in a moment.',
    unsupported_version:
      "The server does not speak this app's version of the protocol. Update the app, or ask the server's administrator to update the server.",
    unauthenticated: 'You are not signed in to the server yet. Try again in a moment.',
    already_signed_in: 'This connection is already signed in.',
    invalid_username: 'A username is 3 to 32 characters long and uses only a–z, 0–9, underscores, dots and hyphens.',
    invalid_password: 'The password must be 8 to 256 bytes long (a letter or digit is 1 byte, a Chinese character 3).',
    invalid_display_name:
      "That display name can't be used: it needs a visible character, and no control or text-direction characters.",
    username_taken: 'That username is taken. Choose another one.',
    wrong_credentials: 'Wrong username or password.',
    sign_up_closed: 'This server does not take sign-ups. Ask its administrator for an account.',
    invite_required: 'This server needs an invite code to create an account. Ask its administrator for one.',
    invite_invalid: 'This invite code is unknown, used up or expired. Check it, or ask for a new one.',
    account_disabled: "This account was disabled by the server's administrator. Ask them to enable it again.",
    session_not_found: 'That device was already signed out.',
    invalid_token: 'Your session has expired. Sign in again.',
    rate_limited: 'Too many attempts in a short time. Wait a moment, then try again.',
    user_not_found: 'That user could not be found.',
    conversation_not_found: 'That conversation could not be found.',
    not_member: 'You are not a member of this conversation (any more).',
    not_manager: "Only the group's manager can do that.",
    blocked: 'One of you has blocked the other.',
    single_chat_members_fixed: 'A one-to-one chat always has its two members. Start a group instead.',
    too_many_members: 'That would be too many members for one conversation.',
    text_too_long: 'The message is too long.',
    field_too_long: 'That text is too long.',
    shutting_down: 'The server is restarting. Try again in a moment.',
    storage_full: "The server's storage is full, so nothing was saved. Try again later; unsent messages are sent again by themselves.",
    internal: 'Something went wrong on the server. Try again.',
    unknown: 'The server refused this for a reason this app does not know. Updating the app may help.',
    // The SDK.
    offline: 'You are offline. Try again once you are connected.',
    disconnected: 'The connection to the server dropped. Try again in a moment.',
    timeout: 'The server did not answer in time. Try again.',
    connect_failed: 'The server could not be reached. Check the server address and your internet connection, then try again.',
    tls_untrusted:
      "This server's certificate isn't from an authority your computer trusts. If your organisation runs its own certificate authority, ask your administrator how to add it.",
    tls_expired:
      "This server's certificate has expired or isn't valid yet. Check your computer's date and time, or tell the server's administrator.",
    tls_wrong_host: "This server's certificate is for a different address. Check the server address you typed.",
    tls_revoked:
      "This server's certificate has been withdrawn by the authority that issued it, so the connection isn't safe. Tell the server's administrator.",
    tls_failed: "A secure connection to this server could not be set up. Check the server address, or tell the server's administrator.",
    cache_not_set: "The app's storage on this computer is not ready yet. Try again in a moment.",
    cache_already_set: "The app's storage on this computer was opened twice. Restart the app if this keeps happening.",
    cache_owned_by_other: "This account's messages on this computer are in use by another copy of the app. Close it, then try again.",
    cache: 'The app could not read or write its storage on this computer.',
    closed: 'This session has ended. Sign in again.',
    failed: 'The connection to the server stopped working. Restart the app.',
    signed_out: 'You were signed out. Sign in again.',
    invalid_input: 'The app asked for something that is not valid. Try again.',
    protocol: 'The server answered in a way this app does not understand. Updating the app may help.',
    // The app.
    not_signed_in: 'You are not signed in. Sign in first.',
    keyring_unavailable: 'The system keyring is missing or locked, so your sign-in could not be stored.',
    invalid_server_address:
      "That doesn't look like a server address. Type it like chat.example.org, or ask the server's administrator for the exact address.",
    insecure_server:
      'This server address is not encrypted, so your messages and password could be read by others on the network. Use its secure address (https:// or wss://), or tick “Connect without encryption anyway” if you accept the risk.',
    autostart: 'Gtedx IM could not change whether it starts when you sign in to this computer.',
  },
  'zh-CN': {
    malformed_frame: '服务器无法读取本应用发送的请求。更新应用可能会有帮助。',
    unknown_op: '服务器不认识这个请求，它可能比本应用旧。请让服务器管理员更新服务器。',
    invalid_params: '服务器认为本应用的请求无效，已拒绝。请重试；如果反复出现，请更新应用。',
    bad_id: '请求中的编号无效。请重试。',
    frame_too_large: '内容过大，无法发送到服务器。',
    hello_required: '与服务器的连接没有正确建立。请稍后重试。',
    unsupported_version: '服务器不支持本应用使用的协议版本。请更新应用，或请服务器管理员更新服务器。',
    unauthenticated: '尚未登录到服务器。请稍后重试。',
    already_signed_in: '此连接已经登录。',
    invalid_username: '用户名须为 3–32 个字符，只能使用 a–z、0–9、下划线、点和连字符。',
    invalid_password: '密码长度须为 8–256 字节（字母或数字占 1 字节，汉字占 3 字节）。',
    invalid_display_name: '无法使用这个显示名称：它必须包含可见字符，且不能含有控制字符或文字方向字符。',
    username_taken: '该用户名已被占用，请换一个。',
    wrong_credentials: '用户名或密码错误。',
    sign_up_closed: '这个服务器不开放注册。请向服务器管理员申请账号。',
    invite_required: '在这个服务器上注册需要邀请码。请向服务器管理员索取。',
    invite_invalid: '这个邀请码无效、已用完或已过期。请检查后重试，或索取新的邀请码。',
    account_disabled: '此账号已被服务器管理员停用。请联系管理员重新启用。',
    session_not_found: '该设备已经退出登录。',
    invalid_token: '登录已失效，请重新登录。',
    rate_limited: '操作过于频繁，请稍后再试。',
    user_not_found: '找不到该用户。',
    conversation_not_found: '找不到该会话。',
    not_member: '你不是（或已不是）该会话的成员。',
    not_manager: '只有群主可以这样做。',
    blocked: '你们中有一方屏蔽了另一方。',
    single_chat_members_fixed: '单聊总是只有这两位成员，不能更改。请改为创建群聊。',
    too_many_members: '一个会话容纳不了这么多成员。',
    text_too_long: '消息过长。',
    field_too_long: '内容过长。',
    shutting_down: '服务器正在重启，请稍后再试。',
    storage_full: '服务器存储空间已满，没有保存任何内容。请稍后再试；未发送的消息会自动重发。',
    internal: '服务器内部出错，请重试。',
    unknown: '服务器因本应用不认识的原因拒绝了请求。更新应用可能会有帮助。',
    offline: '当前离线，请连接后再试。',
    disconnected: '与服务器的连接已断开，请稍后再试。',
    timeout: '服务器没有及时响应，请重试。',
    connect_failed: '无法连接到服务器。请检查服务器地址和网络连接，然后重试。',
    tls_untrusted: '这个服务器的证书不是由你的电脑信任的机构签发的。如果你的单位有自己的证书颁发机构，请向管理员询问如何添加它。',
    tls_expired: '这个服务器的证书已过期或尚未生效。请检查电脑的日期和时间，或告知服务器管理员。',
    tls_wrong_host: '这个服务器的证书属于另一个地址。请检查你输入的服务器地址。',
    tls_revoked: '这个服务器的证书已被签发机构吊销，连接并不安全。请告知服务器管理员。',
    tls_failed: '无法与这个服务器建立安全连接。请检查服务器地址，或告知服务器管理员。',
    cache_not_set: '应用在这台电脑上的存储还没有准备好，请稍后再试。',
    cache_already_set: '应用在这台电脑上的存储被打开了两次。如果反复出现，请重启应用。',
    cache_owned_by_other: '此账号在这台电脑上的消息正被另一个应用实例使用。请关闭它后重试。',
    cache: '应用无法读写它在这台电脑上的存储。',
    closed: '此会话已结束，请重新登录。',
    failed: '与服务器的连接已停止工作，请重启应用。',
    signed_out: '你已退出登录，请重新登录。',
    invalid_input: '应用发出的请求无效，请重试。',
    protocol: '服务器的响应无法被本应用理解。更新应用可能会有帮助。',
    not_signed_in: '尚未登录，请先登录。',
    keyring_unavailable: '系统密钥环缺失或已锁定，凭据没有被保存。',
    invalid_server_address: '这不像是服务器地址。请按 chat.example.org 这样的格式输入，或向服务器管理员询问准确的地址。',
    insecure_server:
      '这个服务器地址未加密，网络中的其他人可能看到你的消息和密码。请使用它的安全地址（https:// 或 wss://）；如果你愿意承担风险，也可以勾选“仍然不加密连接”。',
    autostart: 'Gtedx IM 无法更改是否在登录这台电脑时启动。',
  },
};
