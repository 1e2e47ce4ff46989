"""Layouts of the source releases (Adobe, COCO, VOC) and the built-in sample release."""
