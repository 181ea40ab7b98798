"""Domain signals of projects, sent once per transition: to
`<signal>.in_transaction` receivers inside the change's transaction, to the others after it
commits (never on rollback).

project_updated(sender=Project, project, changed_fields: list[str], actor)
user_story_created(sender=UserStory, story, actor)

project_access_lost(sender=Project, project, user_ids: list[int], actor) is the exception: it is
sent inside the transaction that removes people from a project (an update of its members or
owner, or a member leaving), so whatever acts for them on the project stops in that same
transaction; a failing receiver rolls the removal back rather than leave them acting.
"""

from django.dispatch import Signal

from core.signals import DomainSignal

project_updated = DomainSignal()
user_story_created = DomainSignal()
project_access_lost = Signal()
