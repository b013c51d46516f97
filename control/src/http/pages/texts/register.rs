//! Texts of the customers' self-registration pages.

/// Texts of the self-registration pages, in one language.
#[derive(Debug)]
pub(crate) struct RegisterTexts {
    pub(crate) title: &'static str,
    pub(crate) intro: &'static str,
    pub(crate) meter: &'static str,
    pub(crate) phone: &'static str,
    pub(crate) send_code: &'static str,
    pub(crate) code_sent: &'static str,
    pub(crate) code: &'static str,
    pub(crate) choose_username: &'static str,
    pub(crate) choose_password: &'static str,
    pub(crate) repeat_password: &'static str,
    pub(crate) passwords_differ: &'static str,
    pub(crate) register: &'static str,
    pub(crate) closed: &'static str,
    pub(crate) link: &'static str,
    pub(crate) start_again: &'static str,
}

/// 中文.
pub(crate) static ZH: RegisterTexts = RegisterTexts {
    title: "注册网上营业厅",
    intro: "请输入电表号（表上 12 位数字）和开户时登记的手机号，我们会向该手机发送验证码。",
    meter: "电表号",
    phone: "手机号",
    send_code: "获取验证码",
    code_sent: "若电表号与手机号与登记信息一致，验证码已发送到该手机，10 分钟内有效。",
    code: "验证码",
    choose_username: "用户名（小写字母、数字、. _ -）",
    choose_password: "密码（至少 12 个字符）",
    repeat_password: "再次输入密码",
    passwords_differ: "两次输入的密码不一致。",
    register: "注册并登录",
    closed: "暂未开通自助注册，请到营业厅或拨打客服热线办理。",
    link: "还没有账号？注册网上营业厅",
    start_again: "重新获取验证码",
};

/// English.
pub(crate) static EN: RegisterTexts = RegisterTexts {
    title: "Register for the online service hall",
    intro: "Type your meter number (the 12 digits on the meter) and the phone number the utility has for you: a code is sent to that phone.",
    meter: "Meter number",
    phone: "Phone number",
    send_code: "Send me a code",
    code_sent: "If the meter and phone numbers match our records, a code was sent to that phone; it is valid for 10 minutes.",
    code: "Code",
    choose_username: "Username (lower-case letters, digits, . _ -)",
    choose_password: "Password (at least 12 characters)",
    repeat_password: "Password again",
    passwords_differ: "The two passwords differ.",
    register: "Register and sign in",
    closed: "Registering online is not open yet: visit a service hall or call the hotline.",
    link: "No account yet? Register for the online service hall",
    start_again: "Ask for a new code",
};
