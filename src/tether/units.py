"""Human units shared by the daemon and the CLI, as Docker's go-units prints them.

Both `docker ps` columns computed by the daemon (Status) and by the client (CREATED) use the
same wording, so one function serves `tether.api` and `tether.client`.
"""


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: "3 seconds", "About a minute", "2 hours", "3 weeks"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(s / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"
