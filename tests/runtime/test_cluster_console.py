"""The embedded Ray's console: Ray's notice that it enabled token authentication (nothing for
the user to do) is dropped; its warning that authentication is disabled stays."""

import logging

from distrl.runtime.cluster import TOKEN_LOGGER, _quiet_token_notice


def test_the_token_enabled_notice_is_dropped_and_the_disabled_warning_kept(caplog):
    _quiet_token_notice()
    _quiet_token_notice()  # idempotent: one filter
    logger = logging.getLogger(TOKEN_LOGGER)
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger=TOKEN_LOGGER):
        logger.warning("Token authentication is enabled for this Ray cluster. Set ...")
        logger.warning("Token authentication is disabled for this Ray cluster. Anyone ...")
    assert [r.getMessage()[:34] for r in caplog.records] == ["Token authentication is disabled f"]
