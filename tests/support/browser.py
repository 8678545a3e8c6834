"""A real browser for the deployment tier: Debian's Chromium, headless, driven through chromedriver.

``chromium()`` starts chromedriver and a headless Chromium (W3C WebDriver, through selenium, with
the binaries given by path so that selenium never looks for or downloads a driver), and always
quits both when the block ends, also when a test fails. ``Browser`` is what the UI tests need of
it: open a page of the Airflow UI, wait for something a user would see (a timeout takes a
screenshot and names it in the failure), paste text as a user does (through the clipboard and
Ctrl+V, so a field's handling of newlines is what a user gets), read the page's source and visible
text, and take screenshots into the test run's temp folder (each path is printed).

A missing Chromium or chromedriver fails with a message naming it and how to install it; a browser
that does not start fails with chromedriver's log tail. Neither is ever skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from kontinue_sandbox.errors import log_tail

T = TypeVar("T")

CHROMIUM = os.environ.get("KONTINUE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KONTINUE_CHROMEDRIVER", "/usr/bin/chromedriver")
INSTALL_HINT = "install it with `make deployment-deps` (Debian: apt-get install chromium chromium-driver)"
WAIT = 90.0
"""How long to wait for something to show in the UI: generous, the machine running the tier is loaded."""
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",  # the tests may run as root, where Chromium's sandbox refuses to start
    "--disable-dev-shm-usage",  # /dev/shm is small in containers
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--window-size=1400,1000",
    "--lang=en-US",
)


class BrowserError(RuntimeError):
    """Chromium or chromedriver is missing or did not start; the message says which and why."""


def binaries() -> tuple[str, str]:
    """The paths of Chromium and chromedriver, or ``BrowserError`` naming what is missing."""
    missing = [
        f"{name} ({path})"
        for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
        if not (Path(path).is_file() and os.access(path, os.X_OK))
    ]
    if missing:
        raise BrowserError(f"the browser tests need {' and '.join(missing)}, not found: {INSTALL_HINT}")
    return CHROMIUM, CHROMEDRIVER


class Browser:
    """One headless Chromium window on one web application (``base_url``)."""

    def __init__(self, driver: webdriver.Chrome, base_url: str, screenshots: Path) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.screenshots = screenshots
        self._shots = 0

    def keep_screenshots_in(self, folder: Path) -> None:
        """Save the next screenshots in ``folder`` (a test's ``tmp_path``), numbered from 1."""
        folder.mkdir(parents=True, exist_ok=True)
        self.screenshots = folder
        self._shots = 0

    # -- pages ---------------------------------------------------------------------------------------

    def login_all_admins(self) -> None:
        """Log in to an Airflow UI whose simple auth manager makes every user an admin
        (``[core] simple_auth_manager_all_admins``): its login URL, ``/auth/token/login``, sets the
        session's JWT cookie (``_token``) without credentials and redirects to the home page."""
        self.open(f"/auth/token/login?next={self.base_url}/")
        self.wait(lambda: self.driver.get_cookie("_token"), what="the UI's session cookie (_token)")
        self.button("Admin")  # the navigation shows: the UI loaded, and the user may administer

    def open(self, path: str) -> None:
        """Go to ``path`` of the application (``/connections``), as typing it in the address bar."""
        self.driver.get(f"{self.base_url}{path}")

    def url(self) -> str:
        return str(self.driver.current_url)

    def source(self) -> str:
        """The page's HTML as the browser holds it now (the DOM, React's rendering included)."""
        return str(self.driver.page_source)

    def text(self) -> str:
        """The page's visible text, as a user reads it."""
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def form_values(self) -> str:
        """What every input and textarea of the page holds, one ``id=value`` a line: a controlled
        field's value is a DOM property, which the page source may not show."""
        values = self.driver.execute_script(
            "return Array.from(document.querySelectorAll('input, textarea'))"
            ".map((e) => `${e.id || e.name}=${e.value}`).join('\\n')"
        )
        return str(values)

    def toasts(self) -> dict[str, str]:
        """The notifications the page shows now: their element id → their text (title, then message)."""
        found: dict[str, str] = {}
        for toast in self.driver.find_elements(By.CSS_SELECTOR, "[data-scope=toast][data-part=root]"):
            with contextlib.suppress(WebDriverException):  # it closed meanwhile
                found[str(toast.get_attribute("id"))] = str(toast.text)
        return found

    def row(self, cell_text: str) -> WebElement:
        """The displayed table row with a cell whose text is ``cell_text``."""
        xpath = f"//tr[td[normalize-space(.)={_xpath_string(cell_text)}]]"
        return self.wait(lambda: self._displayed(By.XPATH, xpath), what=f"a table row {cell_text!r}")

    def screenshot(self, name: str) -> Path:
        """Save a screenshot of the window as ``NN-name.png`` in the screenshots folder; print its path."""
        self._shots += 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
        path = self.screenshots / f"{self._shots:02d}-{slug}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path}")
        return path

    # -- waiting -------------------------------------------------------------------------------------

    def wait(self, condition: Callable[[], T | None], *, what: str, timeout: float = WAIT) -> T:
        """Wait until ``condition()`` returns something truthy; on timeout, fail with a screenshot."""

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(WebDriverException):  # the element went stale, the page moved on
                result = condition()
                if result:
                    return result
            time.sleep(0.25)
        shot = self.screenshot(f"timeout {what}")
        pytest.fail(
            f"timed out after {timeout:.0f}s waiting for {what} in the browser at {self.url()}; "
            f"screenshot: {shot}; the page shows:\n{self._visible_text_or_error()[:3000]}"
        )

    def _visible_text_or_error(self) -> str:
        try:
            return self.text()
        except WebDriverException as err:
            return f"(no page text: {err.msg})"

    def wait_for_text(self, text: str, *, timeout: float = WAIT) -> None:
        """Wait until the page's visible text contains ``text``."""
        self.wait(lambda: text in self.text(), what=f"the text {text!r}", timeout=timeout)

    def element(self, css: str, *, what: str = "", timeout: float = WAIT) -> WebElement:
        """The first displayed element matching the CSS selector ``css``, once there is one."""
        return self.wait(lambda: self._displayed(By.CSS_SELECTOR, css), what=what or css, timeout=timeout)

    def button(self, label: str, *, timeout: float = WAIT) -> WebElement:
        """The displayed, enabled button whose text or ``aria-label`` is ``label``."""
        xpath = (
            f"//button[normalize-space(.)={_xpath_string(label)} or @aria-label={_xpath_string(label)}]"
            f"|//*[@role='menuitem' or @role='link' or self::a][normalize-space(.)={_xpath_string(label)}]"
        )

        def enabled() -> WebElement | None:
            found = self._displayed(By.XPATH, xpath)
            return found if found is not None and found.is_enabled() else None

        return self.wait(enabled, what=f"a button {label!r}", timeout=timeout)

    def _displayed(self, by: str, selector: str) -> WebElement | None:
        for found in self.driver.find_elements(by, selector):
            if found.is_displayed():
                return found
        return None

    # -- input ---------------------------------------------------------------------------------------

    def click(self, element: WebElement) -> None:
        """Click as a user does; where something (a toast, a tooltip) covers it, click it by script."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        try:
            element.click()
        except WebDriverException as err:
            if "not clickable" not in (err.msg or "") and "intercepted" not in (err.msg or ""):
                raise
            self.driver.execute_script("arguments[0].click()", element)

    def type(self, element: WebElement, text: str) -> None:
        """Focus ``element`` and type ``text`` key by key."""
        self.click(element)
        element.send_keys(text)

    def paste(self, element: WebElement, text: str) -> None:
        """Put ``text`` on the clipboard and paste it into ``element`` with Ctrl+V, as a user pastes
        a file's content: the field receives it as one paste event, newlines and all."""
        self.driver.execute_cdp_cmd(
            "Browser.grantPermissions",
            {
                "origin": self.base_url,
                "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
            },
        )
        error = self.driver.execute_async_script(
            "const [text, done] = arguments;"
            "navigator.clipboard.writeText(text).then(() => done(null), (e) => done(String(e)));",
            text,
        )
        if error is not None:
            raise BrowserError(f"could not put the text on Chromium's clipboard: {error}")
        self.click(element)
        element.send_keys(Keys.CONTROL, "v")

    def value(self, element: WebElement) -> str:
        """What an input or textarea holds now."""
        return str(element.get_property("value"))


def _xpath_string(text: str) -> str:
    """``text`` as an XPath 1.0 string literal (XPath has no escapes: split on the quote kind)."""
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


@contextlib.contextmanager
def chromium(base_url: str, folder: Path) -> Iterator[Browser]:
    """A headless Chromium on ``base_url``, quit (with chromedriver) when the block ends, also on failure.

    Its screenshots and chromedriver's log (Chromium's output included) are kept in ``folder`` (the
    test run's temp folder); its profile is a fresh temp folder, removed at the end.
    """
    chromium_path, chromedriver_path = binaries()
    folder.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="kontinue-chromium-"))
    log = folder / "chromedriver.log"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=chromedriver_path, log_output=str(log), service_args=["--verbose"])
    try:
        try:
            driver = webdriver.Chrome(options=options, service=service)
        except WebDriverException as err:
            raise BrowserError(
                f"Chromium ({chromium_path}) did not start through chromedriver ({chromedriver_path}): "
                f"{err.msg}; chromedriver's log ({log}) ends with:\n{log_tail(log)}"
            ) from err
        try:
            driver.set_page_load_timeout(WAIT)
            yield Browser(driver, base_url, folder)
        finally:
            with contextlib.suppress(Exception):
                driver.quit()
    finally:
        with contextlib.suppress(Exception):
            service.stop()
        shutil.rmtree(profile, ignore_errors=True)
