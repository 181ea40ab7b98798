"""Domain signals of projects, sent once and only after the change commits.

project_updated(sender=Project, project, changed_fields: list[str], actor)
user_story_created(sender=UserStory, story, actor)
"""

from django.dispatch import Signal

project_updated = Signal()
user_story_created = Signal()
