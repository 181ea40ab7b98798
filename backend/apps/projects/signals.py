"""Domain signals of projects, sent once and only after the change commits.

project_updated(sender=Project, project, changed_fields: list[str], actor)
user_story_created(sender=UserStory, story, actor)

project_access_lost(sender=Project, project, user_ids: list[int], actor) is the exception: it is
sent inside the transaction that removes people from a project (an update of its members or
owner, or a member leaving), so whatever acts for them on the project stops in that same
transaction; a failing receiver rolls the removal back rather than leave them acting.
"""

from django.dispatch import Signal

project_updated = Signal()
user_story_created = Signal()
project_access_lost = Signal()
