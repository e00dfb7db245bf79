"""The roaming quota scenario of the ESPF documentation, as a working
Application: when an account's roaming data quota is used up, block it in
the HSS and schedule ``Custom/NextMonth`` for midnight of the first of next
month in the account's time zone; then, if the account has the funds,
unblock it; a top-up later (``Account/Service/QuotaAvailable``) unblocks it
too. ``python -m examples.roaming_quota`` plays the whole story.
"""
