"""Domain signals of projects, sent once per transition: to
`<signal>.in_transaction` receivers inside the change's transaction, to the others after it
commits (never on rollback).

project_updated(sender=Project, project, changed_fields: list[str], actor)
user_story_created(sender=UserStory, story, actor)
"""

from core.signals import DomainSignal

project_updated = DomainSignal()
user_story_created = DomainSignal()
