"""GitHub: a repository per integration, issues for stories, the pull-request and Actions mirror."""
